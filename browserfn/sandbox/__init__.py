"""Running user code: a supervisor process per run that forks the child running `run()`."""
