// Drop one constraint by name (the name is a parameter, never formatted in).
DROP CONSTRAINT $name IF EXISTS
