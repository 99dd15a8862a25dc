"""Fab physics and economics: etch, deposition, tool throughput, process flows, tool counts, tool supply, yield, wafers."""
