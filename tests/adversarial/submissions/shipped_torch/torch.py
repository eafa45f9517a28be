"""A fake torch shipped with the submission: the grader must import the real one."""
raise ImportError("the shipped torch.py was imported")
