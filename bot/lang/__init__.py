"""Language tools: identification, sentence splitting, stopwords and localized strings."""
