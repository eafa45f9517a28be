raise ImportError("the shipped conftest.py was imported")
