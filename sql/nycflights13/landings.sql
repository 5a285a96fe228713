-- Step 3, first part: every landing the block's flights can look back to, per aircraft. Those
-- before the block's start reach it as landed_before, each aircraft's last one, carried from
-- block to block (carry_landings.sql); then the block's own. Two legs of one aircraft landing in
-- the same minute (a data error) keep the larger delay. Variables: block_from, block_to.

with

landings_in_block as (
    select
        flights_timed.tailnum,
        flights_timed.actual_arr_utc,
        max(flights_timed.arr_delay) as arr_delay
    from flights_timed
    where flights_timed.tailnum is not null
        and flights_timed.actual_arr_utc >= getvariable('block_from')
        and flights_timed.actual_arr_utc < getvariable('block_to')
    group by flights_timed.tailnum, flights_timed.actual_arr_utc
),

final as (
    select
        landed_before.tailnum,
        landed_before.actual_arr_utc,
        landed_before.arr_delay
    from landed_before
    union all
    select
        landings_in_block.tailnum,
        landings_in_block.actual_arr_utc,
        landings_in_block.arr_delay
    from landings_in_block
)

select * from final
