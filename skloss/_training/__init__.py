"""The skorch side of training: the net, batches, callbacks, optimisers and their building."""
