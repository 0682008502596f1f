"""Learning from outcomes (issue 20, first step): feedback on an answer, what became of an
applied fix, and the reasoning patterns (per error category, the kind of change that worked)
that later fixErrors are shown."""
