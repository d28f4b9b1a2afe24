"""The networks: AttentionLSTM, its heads, the fused and stacked inference forms, ensembles."""
