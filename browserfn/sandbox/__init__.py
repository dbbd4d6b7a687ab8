"""Running user code: a warm fork server forks one process per run, which runs `run()`."""
