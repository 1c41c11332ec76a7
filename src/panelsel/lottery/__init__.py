"""From a lottery over types to a lottery over people; a uniform lottery over numbered panels."""
