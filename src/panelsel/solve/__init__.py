"""The solvers' side: from a :class:`Model` to a lottery over types of people."""
