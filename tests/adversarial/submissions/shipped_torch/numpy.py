raise ImportError("the shipped numpy.py was imported")
