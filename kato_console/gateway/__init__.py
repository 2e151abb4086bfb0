"""The gateway: the data plane that the internal and external service switches drive (docs/architecture.md, "The gateway")."""
