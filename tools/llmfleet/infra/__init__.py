"""Infrastructure every layer may use: processes, temporaries, git, the repository transaction, errors, exit codes, findings and output."""
