-- Between blocks: each aircraft's last landing before the next block starts, from the landings
-- this block could see (those carried to it and its own). It becomes the next landed_before.

with

final as (
    select
        landings.tailnum,
        landings.actual_arr_utc,
        landings.arr_delay
    from landings
    qualify landings.actual_arr_utc = max(landings.actual_arr_utc) over (
        partition by landings.tailnum
    )
)

select * from final
