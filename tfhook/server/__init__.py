"""The gRPC edge: listen, serve, convert requests and answers, reload."""
