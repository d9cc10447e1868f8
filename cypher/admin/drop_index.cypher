// Drop one index by name (the name is a parameter, never formatted in).
DROP INDEX $name IF EXISTS
