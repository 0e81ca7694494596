module.exports = { name: 'helper.cjs' };
