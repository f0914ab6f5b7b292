"""Live changes: the event log, the per-process hub and the WebSocket transport (§7)."""
