"""年度考評: the year's assessment of every sub-project, from suggested scores to published grades."""
