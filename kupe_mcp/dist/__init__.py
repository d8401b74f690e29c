"""Distribution: client installers, the MCPB bundle, generated docs tables, and the scripted demo tour."""
