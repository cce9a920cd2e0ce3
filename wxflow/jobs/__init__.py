"""RQ entry points. Jobs are transports: load by id, call one service, return the id."""
