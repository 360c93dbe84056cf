"""The one door to child processes: spawn, pipes, the watchdog."""
