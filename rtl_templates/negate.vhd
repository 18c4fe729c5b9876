-- negate: y = -a, truncated to WO bits.
--
-- a is sign- (SA /= 0) or zero-extended to a width above both WA and WO before negating, so
-- the most negative signed value and every unsigned value negate exactly; the low WO bits of
-- the two's-complement result are the output. SO only documents how they are read. Same
-- parameters and semantics as negate.v.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity negate is
    generic (
        WA : positive := 8;  -- width of a
        SA : natural  := 1;  -- a is signed
        WO : positive := 9;  -- width of y
        SO : natural  := 1   -- y is read as signed (bit pattern does not depend on it)
    );
    port (
        a : in  std_logic_vector(WA - 1 downto 0);
        y : out std_logic_vector(WO - 1 downto 0)
    );
end entity negate;

architecture rtl of negate is
    constant WI : positive := maximum(WA, WO) + 1;
begin
    calc: process (a)
        variable x : unsigned(WI - 1 downto 0);
    begin
        if SA /= 0 then x := unsigned(resize(signed(a), WI)); else x := resize(unsigned(a), WI); end if;
        x := to_unsigned(0, WI) - x;
        y <= std_logic_vector(x(WO - 1 downto 0));
    end process calc;
end architecture rtl;
