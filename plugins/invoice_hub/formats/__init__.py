"""Invoice formats. This version moves files unchanged (``passthrough``); readers and writers of UBL,
PEPPOL BIS 3, AP Agility XML and open-AR CSV, and validation, plug in here (see ``capabilities``)."""
