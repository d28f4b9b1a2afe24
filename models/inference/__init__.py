"""Running a trained model: batched over a history, or one window per bar."""
