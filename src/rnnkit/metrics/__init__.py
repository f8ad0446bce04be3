"""Evaluation metrics: classification (accuracy, F1, confusion), translation (BLEU, chrF), speech (CER, WER)."""
