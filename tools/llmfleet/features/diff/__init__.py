"""The rendered difference between revisions, and how a change moves the simulation."""
