"""Market data: loaders for candles and trade ticks, and the bundled sample."""
