"""Use cases: one function per thing a person or a job does.

Services are the only code that writes. Each public function takes the actor, parsed
values and the clock, authorises, validates (raising before any write), writes, appends
an audit row and commits once.
"""
