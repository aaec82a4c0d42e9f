"""Wearable device profiles: the only place that knows BLE UUIDs and byte layouts."""
