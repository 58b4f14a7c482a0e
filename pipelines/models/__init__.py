"""The networks, one module per family; plain torch, no data or training code."""
