"""Invoice formats. This version moves files unchanged (``passthrough``); readers and writers of UBL,
PEPPOL BIS 3, AP Agility XML and open-AR CSV, and validation, plug in here."""

from __future__ import annotations

#: What ``transform`` can do in this version; the config check reports anything else as unavailable.
AVAILABLE_OUTPUTS = frozenset({"passthrough"})
AVAILABLE_VALIDATIONS = frozenset({"none"})
