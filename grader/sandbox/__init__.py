"""Running untrusted code: confinement, the child, the runner, the fork server, the wire format."""
