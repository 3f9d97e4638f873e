"""One module per scheme; each registers its formula kind with @convmed.forfaits.registry.formula."""
