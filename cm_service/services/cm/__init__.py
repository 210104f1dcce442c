"""The contingency-management domain: check-ins, settling the fold into the ledger,
corrections, rewards and draws, sessions and groups, funding, and the nightly job."""
