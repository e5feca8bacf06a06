-- A group of refresh-token rotations and the audit entries recording them may be committed as
-- one statement, chained after the audit head its writer expects (crates/store/src/
-- group_commit.rs). The statement ends with this check: its error undoes the whole statement
-- when the head had moved or a rotation was refused, and the writer then commits the group in
-- a transaction that reads the head first.
CREATE FUNCTION llavero_group_check(ok BOOLEAN) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'the audit head moved or a rotation was refused' USING ERRCODE = 'LV001';
    END IF;
    RETURN TRUE;
END
$$;
