"""Problems and what students hand in: specs and their schema, the bank, inputs, submissions."""
