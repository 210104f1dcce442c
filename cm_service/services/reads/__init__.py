"""Read models: what the screens and exports show (board, records, portal, reports),
computed from the rows, never written."""
