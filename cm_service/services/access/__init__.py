"""People and access: sign-in, passwords, PINs, TOTP, lockout, API tokens, who is
acting, what they may see, the audit log, consent to share, and kept drafts."""
