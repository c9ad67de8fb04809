"""Output for people and programs: one `render(result, fmt)` per result family."""
