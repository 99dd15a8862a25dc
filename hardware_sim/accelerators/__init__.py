"""Accelerators, clusters and LLM workloads: catalog, roofline, operators, serving/training, network, power, cost."""
