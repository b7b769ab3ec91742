# Declarations for the compiled copy of ubl.py (invoice_hub.compiled), never logic: with the walk's
# dicts and texts typed, its lookups, stores and strips are direct C calls, and its recursion a C
# call (a tenth less reading). The interpreted module ignores this file; a change to it makes the
# compiled copy stale. (An element's text is a str or None, lxml's .text.)
import cython

@cython.locals(table=dict, read=dict, text_=str)
cpdef dict _read(object element, object shape, object source, dict values=*)
