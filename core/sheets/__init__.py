"""The spreadsheet pipeline: decode, guard, read (in a bounded child process), clean, stage, write, report; and export."""
