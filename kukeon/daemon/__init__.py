"""kukeond: configuration, sources, the service behind the API, start-up and signals."""
