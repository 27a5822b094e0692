-- Whether the current login has the role's privileges (a superuser has every role's): then it
-- may hand schemas to the role and set its default privileges. params: %(role)s.
select pg_has_role(current_user, %(role)s, 'USAGE') as is_member
