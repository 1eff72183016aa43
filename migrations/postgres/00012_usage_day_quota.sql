-- +goose Up
-- projections.Installations: the quota in force on each day of the usage
-- history (USE-2, USE-3), so that a day's peak is compared with that day's
-- quota, not today's: the quota carried by the day's latest-observed
-- report. NULL on the days written before this column, until the
-- projection is rebuilt.
ALTER TABLE inst_usage_days ADD COLUMN quota integer;

-- +goose Down
ALTER TABLE inst_usage_days DROP COLUMN quota;
