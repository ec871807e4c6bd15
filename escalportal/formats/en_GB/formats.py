"""Typed dates and times are ISO, whoever types them (issue 12, item 7).

British English would also read 07/12/2026 as 7 December, and an American reads it as 12 July:
the portal accepts only what its placeholders show (2026-12-07, 14:30, 2026-12-07 14:30, and the
"T" form a browser's picker or an API client sends), and says so beside the field otherwise.
"""

DATE_INPUT_FORMATS = ["%Y-%m-%d"]
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
