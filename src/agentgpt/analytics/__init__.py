"""Cross-session analytics: turn events, time-bucketed aggregates, trends and alerts."""
