"""RQ job entry points: thin wrappers that open an app context and call a domain service."""
