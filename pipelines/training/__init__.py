"""The one training driver (Ray Train or a plain process) and the loop every model runs in."""
