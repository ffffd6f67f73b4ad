"""Learned embedding models: finding a model's files (acquire), turning them into an
ONNX graph once (onnx_graph, onnx_build) and running it (onnx_embedder)."""
